
evt-e2b37042ce8c9b90c-25bf64dfd926	u-2659985 (2�ยินดีด้วย คุณได้รับรางวัล 100,000 บาท กรุณาโอนค่าธรรมเนียมเพื่อรับเงิน [placeholder scam link]:thBTHH����5R
hate��=R
violence��q=R
spam?5>?Z
clientiosZ
app_version5.13.1Z
	thread_idt-3c43c18a11`�h(