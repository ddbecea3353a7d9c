/* Throughput of normalise_text on one core: ASCII, mixed-script, non-Latin and combining-mark
 * corpora. BENCH_ONLY=NAME runs one corpus; BENCH_ONCE=1 makes one untimed pass, for
 * instruction counts that do not move with the machine's load:
 *   BENCH_ONCE=1 BENCH_ONLY=non-latin valgrind --tool=callgrind --toggle-collect=normalise_text
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "normalise.h"

#define BENCH_CORPUS_BYTES (8u << 20) /* per corpus */
#define BENCH_EVENT_BYTES 1024        /* texts are normalised one event at a time */
#define BENCH_MIN_SECONDS 0.5
#define BENCH_ROUNDS 3 /* best of */

/* Neutral everyday sentences; ASCII with the case, digits, punctuation and
 * stray whitespace that chat text has. */
static const char *const bench_ascii[] = {
	"Good morning, everyone! The market opens at 8:30 today.",
	"Please bring 2 bags of RICE and some fresh Tomatoes.",
	"The weather in the valley was sunny,\twith a light breeze.",
	"Our team meeting moved to Room 42 -- see you there :)",
	"Has anyone seen the new library? It looks GREAT.",
	"I'm taking the bus at 7 because the train is late again...",
	"Happy birthday to my sister, love you lots!!!",
	"Order #1234 shipped on 2024-05-17 via standard post.\n",
	"Thanks for the recipe; the soup turned out really well.",
	"The kids played football in the park until sunset.",
};

/* The same kind of sentences in Swahili, Bosnian (Latin and Cyrillic),
 * Indonesian, Hindi, Arabic (with and without harakat), Thai and Chinese. */
static const char *const bench_mixed[] = {
	"Habari za asubuhi, rafiki yangu. Leo tunakwenda sokoni kununua matunda na mboga.",
	"Mvua ilinyesha usiku kucha, lakini sasa jua linawaka.",
	"Dobro jutro! Danas idemo na pijacu da kupimo voće i povrće.",
	"Čaša čaja, šuma, žaba, đak i ćevapi za ručak u Sarajevu.",
	"Добро јутро! Данас идемо на пијацу да купимо воће и поврће.",
	"Selamat pagi, kami pergi ke pasar untuk membeli buah dan sayur.",
	"Cuaca hari ini cerah dan anak-anak bermain di taman.",
	"नमस्ते, आज हम बाज़ार जाकर फल और सब्ज़ियाँ खरीदेंगे।",
	"बच्चे शाम तक पार्क में फ़ुटबॉल खेलते रहे।",
	"صَبَاحُ الْخَيْرِ، نَذْهَبُ إِلَى السُّوقِ لِشِرَاءِ الْفَاكِهَةِ.",
	"صباح الخير، الطقس جميل اليوم والأطفال يلعبون في الحديقة.",
	"สวัสดีตอนเช้า วันนี้เราจะไปตลาดเพื่อซื้อผลไม้และผัก",
	"เด็กๆ เล่นฟุตบอลในสวนสาธารณะจนพระอาทิตย์ตก",
	"早上好，今天我们去市场买水果和蔬菜。",
	"孩子们在公园里踢足球，一直玩到日落。",
};

/* Only the non-Latin scripts of the mixed corpus. */
static const char *const bench_nonlatin[] = {
	"Добро јутро! Данас идемо на пијацу да купимо воће и поврће.",
	"नमस्ते, आज हम बाज़ार जाकर फल और सब्ज़ियाँ खरीदेंगे।",
	"बच्चे शाम तक पार्क में फ़ुटबॉल खेलते रहे।",
	"صَبَاحُ الْخَيْرِ، نَذْهَبُ إِلَى السُّوقِ لِشِرَاءِ الْفَاكِهَةِ.",
	"صباح الخير، الطقس جميل اليوم والأطفال يلعبون في الحديقة.",
	"สวัสดีตอนเช้า วันนี้เราจะไปตลาดเพื่อซื้อผลไม้และผัก",
	"เด็กๆ เล่นฟุตบอลในสวนสาธารณะจนพระอาทิตย์ตก",
	"早上好，今天我们去市场买水果和蔬菜。",
	"孩子们在公园里踢足球，一直玩到日落。",
};

struct bench_corpus {
	const char *name;
	char *text;
	size_t len;
};

static unsigned bench_seed = 42;

static unsigned bench_rand(void)
{
	bench_seed = bench_seed * 1103515245u + 12345u;
	return bench_seed >> 16;
}

static void bench_append(struct bench_corpus *c, const char *s, size_t n)
{
	memcpy(c->text + c->len, s, n);
	c->len += n;
}

/* Random sentences from SENTENCES, separated by a space, up to the size. */
static void bench_sentences(struct bench_corpus *c, const char *const *sentences, size_t n)
{
	while (c->len < BENCH_CORPUS_BYTES) {
		const char *s = sentences[bench_rand() % n];
		bench_append(c, s, strlen(s));
		bench_append(c, " ", 1);
	}
}

/* Worst case for the Unicode path: every letter carries a stack of 3 to 8
 * combining marks of mixed classes, out of canonical order. Latin stacks
 * ("zalgo") are dropped; Devanagari ones are kept, sorted and recomposed. */
static void bench_marks(struct bench_corpus *c, bool devanagari)
{
	static const char *const latin_marks[] = {"\u0301", "\u0323", "\u0308", "\u0336",
						  "\u031B", "\u0345", "\u0360", "\u0489"};
	static const char *const deva_bases[] = {"\u0915", "\u0939", "\u0938", "\u092E"};
	static const char *const deva_marks[] = {"\u0951", "\u093C", "\u0952", "\u0901",
						 "\u0902", "\u094D", "\u0941", "\u0953"};
	while (c->len < BENCH_CORPUS_BYTES) {
		if (devanagari) {
			const char *b = deva_bases[bench_rand() % 4];
			bench_append(c, b, strlen(b));
		} else {
			char b = (char)('a' + bench_rand() % 26);
			bench_append(c, &b, 1);
		}
		unsigned n = 3 + bench_rand() % 6;
		for (unsigned i = 0; i < n; i++) {
			const char *m = devanagari ? deva_marks[bench_rand() % 8] :
						     latin_marks[bench_rand() % 8];
			bench_append(c, m, strlen(m));
		}
		if (bench_rand() % 5 == 0)
			bench_append(c, " ", 1);
	}
}

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Normalises the corpus one event (about BENCH_EVENT_BYTES, cut at an ASCII
 * byte so no character is split) at a time; returns the best MB/s. */
static double bench_run(const struct bench_corpus *c, const struct normalise_opts *o,
			size_t *out_bytes)
{
	struct normalise_buf buf = {0};
	double best = 0;
	/* BENCH_ONCE=1: one pass, untimed, so that callgrind counts the same work each run. */
	bool once = getenv("BENCH_ONCE") != NULL;
	for (int round = 0; round < (once ? 1 : BENCH_ROUNDS); round++) {
		size_t done = 0;
		double t0 = bench_now(), t;
		do {
			size_t pos = 0;
			*out_bytes = 0;
			while (pos < c->len) {
				size_t end = pos + BENCH_EVENT_BYTES;
				if (end >= c->len)
					end = c->len;
				else
					while (end < c->len && (unsigned char)c->text[end] >= 0x80)
						end++;
				if (normalise_text(o, c->text + pos, end - pos, &buf) < 0) {
					fprintf(stderr, "normalise_text: out of memory\n");
					exit(EXIT_FAILURE);
				}
				*out_bytes += buf.len;
				pos = end;
			}
			done += c->len;
			t = bench_now() - t0;
		} while (!once && t < BENCH_MIN_SECONDS);
		double mbps = (double)done / t / 1e6;
		if (mbps > best)
			best = mbps;
	}
	normalise_buf_free(&buf);
	return best;
}

int main(void)
{
	enum { NCORPORA = 5 };
	struct bench_corpus corpora[NCORPORA] = {
		{.name = "ascii"},       {.name = "mixed-scripts"},    {.name = "non-latin"},
		{.name = "marks-latin"}, {.name = "marks-devanagari"},
	};
	for (int i = 0; i < NCORPORA; i++) {
		/* Room for the last sentence or mark stack past the size. */
		corpora[i].text = malloc(BENCH_CORPUS_BYTES + 4096);
		if (!corpora[i].text) {
			fprintf(stderr, "out of memory\n");
			return EXIT_FAILURE;
		}
	}
	bench_sentences(&corpora[0], bench_ascii, sizeof(bench_ascii) / sizeof(bench_ascii[0]));
	bench_sentences(&corpora[1], bench_mixed, sizeof(bench_mixed) / sizeof(bench_mixed[0]));
	bench_sentences(&corpora[2], bench_nonlatin,
			sizeof(bench_nonlatin) / sizeof(bench_nonlatin[0]));
	bench_marks(&corpora[3], false);
	bench_marks(&corpora[4], true);

	static const struct {
		const char *name;
		struct normalise_opts opts;
	} optsets[] = {
		{"plain", {false, false}},
		{"leet+glyphs", {true, true}},
	};
	printf("normalise_text, %u-byte events, best of %d runs of >= %.1f s each\n",
	       BENCH_EVENT_BYTES, BENCH_ROUNDS, BENCH_MIN_SECONDS);
	/* BENCH_ONLY=NAME: that corpus alone. */
	const char *only = getenv("BENCH_ONLY");
	for (int i = 0; i < NCORPORA; i++) {
		if (only && strcmp(only, corpora[i].name))
			continue;
		for (size_t k = 0; k < sizeof(optsets) / sizeof(optsets[0]); k++) {
			size_t out = 0;
			double mbps = bench_run(&corpora[i], &optsets[k].opts, &out);
			printf("%-17s %-12s %5.1f MiB in  %5.1f MiB out  %8.1f MB/s\n",
			       corpora[i].name, optsets[k].name, (double)corpora[i].len / (1 << 20),
			       (double)out / (1 << 20), mbps);
		}
	}
	for (int i = 0; i < NCORPORA; i++)
		free(corpora[i].text);
	return EXIT_SUCCESS;
}
