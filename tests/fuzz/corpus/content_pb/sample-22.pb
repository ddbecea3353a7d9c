
evt-4d1b69a617ebb637c-928472adbf1e	u-9479760 (2eصباح الخير من القاهرة! الجو جميل اليوم على كورنيش النيل.:arBEGH����4R
hateT�=R
violencew�=R
spam��!>R
nudity�t<R
misinfo`��=Z
clientandroidZ
app_version5.13.0Z
	thread_idt-bb14a416bd`�Cr�@02e4d4aea934f05f53b0e84ed4d21fe3ea4d5ee73c833731cafc042a1d6930d3@9dbe5ae1f7f847a9d67cd4ea8dc3e65f47ac3119d0c630ffaa469925dac65037