
dec-84502ce870f0965dc-996eae4bcb85evt-9c4dcbda67e3d838 (0Bspam-zhJ"STATEMENT_CATEGORY_SCAMS_AND_FRAUDPZ-Community guidelines 6: spam, scams and fraudb3Repetitive commercial content with deceptive links.jATjBEjBGjHRjCYjCZjDKjEEjFIjFRjDEjGRjHUjIEjITjLVjLTjLUjMTjNLjPLjPTjROjSKjSIjESjSEjISjLIjNOp‘Ú»®³4Š
zh-Hant-TW’TW˜ ‘‰ñ¥³4