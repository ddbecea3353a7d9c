
dec-63ed78f458683555c-049975be62b3evt-ca0e4ffcaf605b2a (	J"STATEMENT_CATEGORY_SCAMS_AND_FRAUDp…ü±¯é4zapl-6c4e6330872bŠid’ID˜ …«ç¦é4²dec-d70c84c7a0fd6ca7