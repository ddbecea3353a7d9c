
dec-4bec6c021b3dcbfbc-eb08459f81efevt-79ad9fa1572e7df5 (J"STATEMENT_CATEGORY_SCAMS_AND_FRAUDpƒŸüÖÈ4zapl-052bfef3f47bŠen’US˜ ƒÎ±ÎÈ4²dec-2aa932bd8efc2438