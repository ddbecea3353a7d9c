
evt-3ef82a3ecd43a42bc-4946a5ac2d8f	u-1158234 (2KOur community garden harvest this year: 40 pounds of tomatoes and counting.:enBUSHª‡ÜÙÀ4R
hateh‘m=R
violence
×£;R
spamj¼<R
nudity¼t<R
misinfo¼t=Z
clientiosZ
app_version5.12.4`Nr†@6a31eb19d3e3c6099caa7b9e79f1d94aef49133dc6f760e83977f1e8f8973ee0@d6c46ca799d3e8a173442c353b487ea6c4740373a27d281aba50a47ea923cf4brD@461665a22434f1a3759a0539347fe670628cf5d75801c0dc75b5b1399a46c790