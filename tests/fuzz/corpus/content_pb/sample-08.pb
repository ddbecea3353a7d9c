
evt-d98e2cb165283dcbc-4f49cab6658d	u-0693945 (2jHawa watu wa [placeholder ethnic group] ni [placeholder dehumanizing term], hawastahili kuishi hapa kwetu.:swBKEH¬æ£úú3R
hate¼ts?R
violence–C‹=R
spamš™>R
misinfo…ë=Z
clientandroidZ
app_version5.12.4Z
editedtrue`Üh