
evt-b18ebc0361ee47a5c-93e248ba79c3	u-5374202 (2FTraffic on I-95 is backed up for miles near exit 12, avoid if you can.:enBUSHÅ®ﬂ√û4R
violence
◊£;R
spamÆG·=R
nudityÙ˝T=R
misinfojº=Z
clientiosZ
app_version5.13.0Z
editedtrue`ÔrD@1cfe9c2d20fc1d6778202418e2b65a03e1a49a2f53c2d263b609ac2c9656061brÜ@946753517b0b605dd7727d4e0295886064827498dec32905bfd12ebce7c2c5aa@68909d2dbbb1dff0bc878c90ab44a97b969e0d9a2c2c585cab14c7df1ccaabe0rD@f5a556ca858789ecd3bb6deb4713e7f35f8d8016258fbc94d7e114e5001743a4