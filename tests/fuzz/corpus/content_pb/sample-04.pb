
evt-d53fa74052232179c-341312a52a4a	u-9119670 (2IVaksin ini mengandung [placeholder false claim], bagikan sebelum dihapus!:idBIDHŠá°‚Ý3R
spam¦›D=R
misinfoVm?Z
clientandroidZ
app_version5.13.0Z

ad_accountact-5c220f9ac7Z
advertiser_verifiedtrue`°½h