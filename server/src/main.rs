//! `tessera`: the server and the operator CLI in one binary.

fn main() -> std::process::ExitCode {
    fewer_malloc_arenas();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(tessera_main()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// glibc gives every thread that contends for the allocator an arena of its own (up to 8 per
/// core), and each keeps freed memory: with the runtime's and SQLite's worker threads that is
/// tens of MB of resident memory holding nothing. Two arenas keep the server's RSS near what it
/// uses; `MALLOC_ARENA_MAX` in the environment still wins.
fn fewer_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called before any other thread exists; mallopt only sets a tunable.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

async fn tessera_main() -> std::process::ExitCode {
    let cli = match tessera::config::Cli::try_parse_args() {
        Ok(cli) => cli,
        // A wrong flag or value is one line, like every other error (help, asked for or
        // shown for a missing subcommand, and `--version` print as usual).
        Err(e)
            if e.use_stderr()
                && e.kind() != clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            let text = e.render().to_string();
            let first: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!("{}", first.join(" "));
            return std::process::ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    // An operator command piped into `head` ends quietly when the reader goes away, as
    // command-line tools do; the server keeps Rust's default (a closed socket is an error, not
    // a signal).
    #[cfg(unix)]
    if !matches!(cli.command, None | Some(tessera::config::Command::Serve)) {
        // SAFETY: restores the default disposition of one signal before any thread writes.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match tessera::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
