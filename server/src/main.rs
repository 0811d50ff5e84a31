//! `tessera`: the server and the operator CLI in one binary.

/// On glibc Linux mimalloc serves every allocation of the process (elsewhere the system
/// allocator does): Rust's through this global allocator, and C's (SQLite's rows and pages)
/// through its `override` feature, which links it in as `malloc`. A request allocates and frees
/// thousands of small buffers (rows, values, JSON, headers): glibc's malloc spent about a fifth
/// of a members page's instructions on them (BENCHMARKS.md, profiles), and held to two arenas
/// (for resident memory) it made the runtime's and SQLite's threads wait for each other.
/// mimalloc commits memory on demand (`.cargo/config.toml`) and returns what it purges.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
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
