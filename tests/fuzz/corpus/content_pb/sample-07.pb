
evt-bbd91aa5ddd0ad9fc-ea564e7f5d75	u-3907053 (2DChakula cha mchana leo: ugali, sukuma wiki na nyama choma. Karibuni!:swBKEHœŒÉúò3R
hateo=R
violence–C‹<R
spamìQ8=R
nudity-²=R
misinfo¦›D<Z
clientandroidZ
app_version5.12.4`