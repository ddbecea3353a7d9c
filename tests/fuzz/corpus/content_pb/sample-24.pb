
evt-398c21f837bf4539c-1dee56caf2e9	u-6834730 (2BHongera kwa timu yetu ya Harambee Stars kwa ushindi wa jana usiku!:swBKEHÄ´ë…í4R
hate/]=R
violence¦›D<R
spam)\=R
nudityÅ °=R
misinfoƒÀ=Z
clientandroidZ
app_version5.13.1`“