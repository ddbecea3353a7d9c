
evt-34b037e6735e2038c-9dc3d45f62e6	u-4435773 (2zยานี้รักษา[placeholder false claim]ได้ภายในสามวัน แชร์ด่วน:thBTHH����3R
hate���=R
violence
�#=R
spam-2>R
misinfo�F?Z
clientwebZ
app_version5.13.1`ثah