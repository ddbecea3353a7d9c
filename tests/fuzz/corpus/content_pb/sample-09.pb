
evt-0898d05ec4d8f8cac-0113ccdc2ce4	u-1444077 (24有人知道高鐵到台中今天有沒有誤點嗎?:
zh-Hant-TWBTWH��ۇ4R
hate㥛<R
violence1,=R
spam��'>R
misinfo�xi=Z
clientiosZ
app_version5.12.3Z
	thread_idt-bc6a0c1efe`#