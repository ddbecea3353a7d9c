
evt-35a5e646476ff18ac-f833f00c917b	u-5184984 (2<Macet parah di Jalan Sudirman pagi ini, lebih baik naik MRT.:idBIDHÙ‰Ÿáì3R
hatej<=R
violence¦›D;R
misinfoX94<Z
clientandroidZ
app_version5.13.1`¡