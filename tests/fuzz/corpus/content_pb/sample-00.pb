
evt-854fd02f25484a0dc-1c19de41de74	u-2278621 (2CSelamat pagi semuanya, jangan lupa sarapan sebelum berangkat kerja.:idBIDH÷ä£÷¹3R
hate–C=R
violenceã¥›<R
spam®Gá=R
misinfoj¼=Z
clientandroidZ
app_version5.13.0Z

ad_accountact-a09fb14cefZ
advertiser_verifiedfalse`®/