"""The Survei Kepuasan Masyarakat: periods, the questionnaire, answers and the IKM."""
