
evt-b3b4346c81460e6fc-7a955cefec4c	u-6896943 (29Proud of my daughter passing her driving test first time!:enBGBHûÒ¼¢“4R
hate¼t<R
violence•=R
spamƒ@=R
misinfoôıÔ=Z
clientwebZ
app_version5.12.4Z
	thread_idt-3d5c5416b7`¤