//! Fake TMDB (issue: library).
