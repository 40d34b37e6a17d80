DROP TABLE subtitles;
