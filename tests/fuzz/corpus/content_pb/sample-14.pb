
evt-4216996e3d1f0658c-64f1697a318b	u-5705102 (2eمبروك لكل الطلاب الناجحين في الثانوية العامة هذا العام.:arBEGH����4R
hate
�#=R
violence���>R
spam���=R
misinfo+=Z
clientiosZ
app_version6.0.0Z
	thread_idt-be06914f14`�/