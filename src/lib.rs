pub mod config;
pub mod cron;
pub mod discover;
pub mod finding;
pub mod model;
pub mod yaml;
