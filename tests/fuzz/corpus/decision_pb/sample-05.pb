
dec-010a81c094390527c-d6b74f58d81aevt-8e1b46f0ddc87519 (0:rev-0233B
appeals-enJ"STATEMENT_CATEGORY_SCAMS_AND_FRAUDPZ-Community guidelines 6: spam, scams and fraudb/Removal replaced by a less restrictive measure.pÑ†öËæ3zapl-6a4a8c061db2€Šen’GB˜ Ñµ«Ãæ3