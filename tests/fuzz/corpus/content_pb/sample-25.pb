
evt-f922e999bee91e4ac-ae264069616f	u-1605878 (2(Qui conna√Æt un bon garagiste √† Lille ?:frBFRH‹Â˛÷ı4R
hate¡ °=R
violenceB`Â;R
spamX9¥=R
misinfo∂Û}=Z
clientiosZ
app_version5.13.1Z
editedtrue`è