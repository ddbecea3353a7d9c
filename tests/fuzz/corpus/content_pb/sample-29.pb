
evt-8952518b081a0318c-8a4d4e051efc	u-1637360 (2IPromo akhir bulan: kopi susu gula aren beli dua gratis satu di toko kami.:idBIDH´ÉëÎ5R
hate
×#=R
violence¼t“<R
spam¦›Ä=R
misinfooƒ:Z
clientiosZ
app_version5.12.4Z
	thread_idt-e982182fd6`ß