
evt-8af41000f21d9a1bc-d8b6407f56aa	u-4983791 (2FÂ¿Alguien sabe si el metro de la Ciudad de MÃ©xico tiene retrasos hoy?:esBMXHÀÇÁÐ£4R
hateçû©=R
violenceƒ@=R
spam1,=R
nudityÕxi=R
misinfo1¬<Z
clientwebZ
app_version5.13.1Z
editedtrue`¦ýrD@d2c5dc3a7aa7360ec68bc756856047187efa0d38ec427c8dc497a5192854b88d