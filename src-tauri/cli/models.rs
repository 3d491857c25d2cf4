//! `hindsight models list|download|remove|verify`.
use std::io::Write;

use super::{print_json, progress_bar, runtime, stop_signal, write_out, ModelArg, ModelsAction};
use crate::error::{Error, Result};
use crate::models::{ModelId, Phase};
use crate::Hindsight;

const MB: f64 = 1e6;

pub fn run(hindsight: &Hindsight, action: ModelsAction, out: &mut impl Write) -> Result<()> {
    match action {
        ModelsAction::List { json } => list(hindsight, json, out),
        ModelsAction::Download { models, json } => {
            let models: Vec<ModelId> = if models.is_empty() {
                vec![ModelId::Embedding, ModelId::Small]
            } else {
                models.into_iter().map(ModelArg::into).collect()
            };
            for model in models {
                install(hindsight, model, None, json, out)?;
            }
            Ok(())
        }
        ModelsAction::Add { model, file, json } => {
            install(hindsight, model.into(), Some(&file), json, out)
        }
        ModelsAction::Remove { model, json } => {
            let model: ModelId = model.into();
            runtime()?.block_on(hindsight.remove_model(model))?;
            if json {
                print_json(out, &serde_json::json!({"model": model, "removed": true}))
            } else {
                write_out(out, format_args!("Removed the {model} model\n"))
            }
        }
        ModelsAction::Verify { json } => verify(hindsight, json, out),
    }
}

fn list(hindsight: &Hindsight, json: bool, out: &mut impl Write) -> Result<()> {
    let models = hindsight.models()?;
    if json {
        return print_json(out, &models);
    }
    for m in &models {
        let state = if m.installed {
            "installed".to_owned()
        } else if m.paused_bytes > 0 {
            format!(
                "paused at {:.0} of {:.0} MB: hindsight models download {}",
                m.paused_bytes as f64 / MB,
                m.download_bytes as f64 / MB,
                m.id
            )
        } else {
            format!("not installed: hindsight models download {}", m.id)
        };
        write_out(
            out,
            format_args!(
                "{:<9}  {}  {:.0} MB, needs {:.1} GB of memory, {}, {}\n           {}\n           {}\n           {}\n",
                m.label,
                m.name,
                m.bytes as f64 / MB,
                m.ram_bytes as f64 / (1u64 << 30) as f64,
                m.speed,
                m.licence,
                m.note,
                m.source,
                state
            ),
        )?;
    }
    Ok(())
}

/// Downloads one model (or copies it in from `file`) with a progress bar; Ctrl-C pauses it.
fn install(
    hindsight: &Hindsight,
    model: ModelId,
    file: Option<&std::path::Path>,
    json: bool,
    out: &mut impl Write,
) -> Result<()> {
    let bar = progress_bar(
        json,
        0,
        "{msg:<12} {bar:30} {bytes}/{total_bytes}  {bytes_per_sec}  eta {eta}",
    );
    bar.set_message(model.to_string());
    let t0 = std::time::Instant::now();
    let result = runtime()?.block_on(async {
        let stopper = async {
            stop_signal().await;
            hindsight.pause_download(model);
            std::future::pending::<()>().await
        };
        let mut on_progress = |p: &crate::models::Progress| {
            bar.set_length(p.total_bytes);
            bar.set_position(p.done_bytes);
            match p.phase {
                Phase::Downloading if p.parts > 1 => {
                    bar.set_message(format!("{model} {}/{}", p.part, p.parts));
                }
                Phase::Downloading => {}
                Phase::Copying => bar.set_message(format!("{model} copy")),
                Phase::Verifying => bar.set_message(format!("{model} check")),
                Phase::Installed => bar.set_message(model.to_string()),
            }
        };
        let installing = async {
            match file {
                Some(path) => {
                    hindsight
                        .install_model_file(model, path, &mut on_progress)
                        .await
                }
                None => hindsight.download_model(model, &mut on_progress).await,
            }
        };
        tokio::select! {
            r = installing => r,
            () = stopper => unreachable!("pending never returns"),
        }
    });
    bar.finish_and_clear();
    match result {
        Ok(()) => {
            let dir = hindsight.locations.models_dir.display().to_string();
            if json {
                print_json(
                    out,
                    &serde_json::json!({"model": model, "installed": true, "models_dir": dir,
                                        "seconds": t0.elapsed().as_secs_f64()}),
                )
            } else {
                write_out(
                    out,
                    format_args!("The {model} model is installed in {dir}\n"),
                )
            }
        }
        Err(e) if e.code() == "cancelled" && file.is_some() => {
            eprintln!("Stopped copying the {model} model: nothing was installed.");
            Err(e)
        }
        Err(e) if e.code() == "cancelled" => {
            let kept = crate::models::paused_bytes(&hindsight.locations.models_dir, model);
            eprintln!(
                "The {model} download is paused ({:.0} MB kept): run the same command to continue, or `hindsight models remove {model}` to drop it.",
                kept as f64 / MB
            );
            Err(e)
        }
        Err(e) => Err(e),
    }
}

fn verify(hindsight: &Hindsight, json: bool, out: &mut impl Write) -> Result<()> {
    let checks = hindsight.verify_models()?;
    if json {
        print_json(out, &checks)?;
    } else {
        for c in &checks {
            write_out(
                out,
                format_args!(
                    "{:<9}  {:<28}  {:<7}  {}\n",
                    c.label,
                    c.name,
                    format!("{:?}", c.state).to_lowercase(),
                    c.path.display()
                ),
            )?;
        }
    }
    let corrupt: Vec<&str> = checks
        .iter()
        .filter(|c| c.state == crate::llm::catalog::CheckState::Corrupt)
        .map(|c| c.label)
        .collect();
    if corrupt.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{} do not have the bytes Hindsight expects (a cut download or a damaged disk); remove them (hindsight models remove …) and download them again",
            corrupt.join(", ")
        )))
    }
}
