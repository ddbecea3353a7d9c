
evt-1ccc232bbd8cd85ec-9ed26dbb89a3	u-9635260 (2NLovely morning for a walk along the Thames, the city is so quiet at this hour.:enBGBHˆðœýú4R
hateÕxi=R
violence
×#<R
spamçû©=R
misinfo`åÐ=Z
clientandroidZ
app_version6.0.0Z

ad_accountact-b2ae007211Z
advertiser_verifiedtrue`×