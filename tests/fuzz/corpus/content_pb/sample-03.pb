
evt-3c3bc57f6b6daaf8c-bfc328d55e45	u-4127065 (2?Buenos dÃ­as desde Guadalajara, hoy hay tianguis en la colonia.:esBMXH½ÌÑ¢Õ3R
hatežï'=R
spamªñÒ=R
nudity#Ûy=R
misinfoo;Z
clientiosZ
app_version5.12.4Z

listing_idl-f9dddc7603`	rD@9407eee33d7d117bbce57c1b01afe3b81d25cd33a9b57bd876be34fc5e2022dc