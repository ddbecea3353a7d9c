
evt-85e2a6513c714901c-78d9c897fca0	u-5473204 (2pUmeshinda KSh 250,000 kwenye bahati nasibu! Tuma KSh 1,000 kwa namba hii kupokea zawadi. [placeholder scam link]:swBKEHë Óı«3R
hateÉ@=R
violenceÕÃL=R
spam!∞r?R
misinfoºt=Z
clientandroidZ
app_version5.13.1`h