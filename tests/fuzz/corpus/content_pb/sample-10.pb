
evt-ded7218fca614b89c-e1b6becfd3b6	u-6302876 	(2�मेरी दादी की बनाई हुई आलू की सब्ज़ी से बेहतर कुछ नहीं।:hiBINH�����4R
violence)\�=R
spam)\=R
misinfoT�=Z
clientandroidZ
app_version5.12.3Z
group_id
g-f9fca4b1`�