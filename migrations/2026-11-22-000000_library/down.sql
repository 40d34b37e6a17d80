DROP TABLE assignments;
DROP TABLE episodes;
DROP TABLE seasons;
DROP TABLE shows;
DROP TABLE movies;
