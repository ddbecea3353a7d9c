
dec-9f2aab6f15a2b769c-50cfcfedd126evt-39582a556c58baed (
0:rev-0101B
appeals-thJ"STATEMENT_CATEGORY_SCAMS_AND_FRAUDPbBOn review the content does not violate the cited policy; restored.pÁ³‚¢ü3zapl-f6450b1078ef€Šth’TH˜ Áâ·™ü3