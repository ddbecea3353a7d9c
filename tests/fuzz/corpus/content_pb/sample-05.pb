
evt-ece1038fbbf8d733c-cefbd4b1912b	u-2615681 (2cOrang-orang [placeholder religious group] itu [placeholder dehumanizing term], usir saja dari sini.:idBIDHÔ±û¬Á3R
hate=
w?R
violenceºt=R
spam-≤ù=R
misinfo9¥H=Z
clientwebZ
app_version5.13.0`Ïh