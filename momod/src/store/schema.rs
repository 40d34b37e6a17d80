// Hand-written to match migrations/ (diesel print-schema gives the same tables; ids are
// declared BigInt because SQLite integers are 64-bit).
diesel::table! {
    movies (id) {
        id -> BigInt,
        tmdb_id -> Nullable<BigInt>,
        title -> Text,
        year -> Nullable<Integer>,
        created_at -> BigInt,
    }
}

diesel::table! {
    shows (id) {
        id -> BigInt,
        tmdb_id -> Nullable<BigInt>,
        title -> Text,
        year -> Nullable<Integer>,
        season_filter -> Nullable<Text>,
        specials -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    seasons (id) {
        id -> BigInt,
        show_id -> BigInt,
        season_number -> Integer,
    }
}

diesel::table! {
    episodes (id) {
        id -> BigInt,
        season_id -> BigInt,
        episode_number -> Integer,
        name -> Nullable<Text>,
        air_date -> Nullable<Text>,
    }
}

diesel::table! {
    assignments (id) {
        id -> BigInt,
        movie_id -> Nullable<BigInt>,
        episode_id -> Nullable<BigInt>,
        kind -> Text,
        info_hash -> Nullable<Text>,
        magnet -> Nullable<Text>,
        file_index -> Nullable<Integer>,
        file_path -> Text,
        file_size -> BigInt,
        resolution -> Nullable<Text>,
        source -> Nullable<Text>,
        is_active -> Bool,
        created_at -> BigInt,
        url -> Nullable<Text>,
    }
}

diesel::table! {
    subtitles (id) {
        id -> BigInt,
        movie_id -> Nullable<BigInt>,
        episode_id -> Nullable<BigInt>,
        language -> Text,
        forced -> Bool,
        sdh -> Bool,
        format -> Text,
        origin -> Text,
        sha256 -> Text,
        size -> BigInt,
        source_name -> Text,
        provider_id -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    pins (assignment_id) {
        assignment_id -> BigInt,
        state -> Text,
        job_id -> Nullable<BigInt>,
        error -> Nullable<Text>,
        created_at -> BigInt,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    watches (id) {
        id -> BigInt,
        movie_id -> Nullable<BigInt>,
        episode_id -> Nullable<BigInt>,
        watched_at -> BigInt,
        progress -> Double,
        synced -> Bool,
    }
}

diesel::table! {
    markers (id) {
        id -> BigInt,
        movie_id -> Nullable<BigInt>,
        episode_id -> Nullable<BigInt>,
        intro_start -> Nullable<Double>,
        intro_end -> Nullable<Double>,
        credits_start -> Nullable<Double>,
        credits_end -> Nullable<Double>,
        origin -> Text,
        confidence -> Double,
        created_at -> BigInt,
    }
}

diesel::joinable!(seasons -> shows (show_id));
diesel::joinable!(pins -> assignments (assignment_id));
diesel::joinable!(markers -> episodes (episode_id));
diesel::joinable!(episodes -> seasons (season_id));
diesel::joinable!(assignments -> movies (movie_id));
diesel::joinable!(assignments -> episodes (episode_id));
diesel::joinable!(subtitles -> movies (movie_id));
diesel::joinable!(subtitles -> episodes (episode_id));

diesel::allow_tables_to_appear_in_same_query!(
    movies,
    shows,
    seasons,
    episodes,
    assignments,
    subtitles,
    pins,
    watches,
    markers
);

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        target_kind -> Nullable<Text>,
        target_id -> Nullable<BigInt>,
        summary -> Text,
        state -> Text,
        payload -> Binary,
        dedupe_key -> Nullable<Text>,
        progress_done -> BigInt,
        progress_total -> Nullable<BigInt>,
        progress_unit -> Text,
        step -> Text,
        result -> Nullable<Binary>,
        error_code -> Nullable<Text>,
        error -> Nullable<Text>,
        created_at -> BigInt,
        started_at -> Nullable<BigInt>,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    job_logs (id) {
        id -> BigInt,
        job_id -> BigInt,
        time_ms -> BigInt,
        level -> Text,
        message -> Text,
    }
}

diesel::joinable!(job_logs -> jobs (job_id));
