
evt-4419fd9d154ce4f3c-3c49d21be440	u-3077211 (2i恭喜您中獎新台幣十萬元,請點擊連結並輸入信用卡資料領取。[placeholder scam link]:
zh-Hant-TWBTWH�����4R
hate
ף;R
violence�t=R
spam��Y?R
misinfo�xi=Z
clientwebZ
app_version6.0.0Z
editedtrue`�h