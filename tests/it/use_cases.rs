//! The use cases both shells call ([`Hindsight`]), on a real SQLite file: each rule once, so
//! the window and the CLI cannot drift apart.
use hindsight::analysis::AnalysisSettings;
use hindsight::embed::{DIM, MODEL_ID};
use hindsight::search::{SearchMode, SearchOptions};
use hindsight::store::{AnalysisState, Sender, Store};
use hindsight::transfer::{ExportFormat, ImportFormat};
use hindsight::Hindsight;

use crate::common::{conversation, fixture, message, temp_hindsight};

#[test]
fn ending_queues_analysis_only_for_a_conversation_with_messages() {
    let (_dir, h) = temp_hindsight();
    let (talked, empty) = {
        let s = h.store();
        let talked = conversation(&s, "Porto trip", 1_000);
        message(
            &s,
            &talked,
            Sender::User,
            "Where should we stay in Porto?",
            1_001,
        );
        (talked, conversation(&s, "Nothing said", 2_000))
    };
    assert_eq!(h.end_conversation(&talked).unwrap().message_count, 1);
    h.end_conversation(&empty).unwrap();
    let state = |id: &str| h.reader().analysis_status(id).unwrap().state;
    assert_eq!(state(&talked), AnalysisState::Pending);
    assert_eq!(state(&empty), AnalysisState::None);
    assert_eq!(
        h.end_conversation("00000000-0000-4000-8000-000000000000")
            .unwrap_err()
            .code(),
        "not_found"
    );
}

#[test]
fn a_deleted_conversation_leaves_the_search_index_at_once() {
    let (_dir, h) = temp_hindsight();
    let mut v = vec![0.0f32; DIM];
    v[0] = 1.0;
    let id = {
        let s = h.store();
        let c = conversation(&s, "Porto trip", 1_000);
        let m = message(&s, &c, Sender::User, "We picked Bonfim", 1_001);
        s.put_embedding(&m, MODEL_ID, &v).unwrap();
        c
    };
    h.searcher.refresh(&h.search_store()).unwrap();
    let dense = SearchOptions {
        mode: SearchMode::Dense,
        min_similarity: 0.0,
        ..Default::default()
    };
    let hits = |h: &Hindsight| {
        h.searcher
            .search(&h.search_store(), "Bonfim", Some(&v), &dense)
            .unwrap()
            .hits
            .len()
    };
    assert_eq!(hits(&h), 1);
    h.delete_conversation(&id).unwrap();
    assert_eq!(hits(&h), 0, "the in-memory index forgot it too");
    assert!(h.reader().conversation_detail(&id).is_err());
}

#[tokio::test]
async fn an_import_is_queued_for_analysis_only_when_analysis_is_automatic() {
    for automatic in [false, true] {
        let (_dir, h) = temp_hindsight();
        AnalysisSettings {
            automatic,
            ..AnalysisSettings::default()
        }
        .save(&h.store())
        .unwrap();
        let report = h
            .import_file(&fixture("hindsight_sample.json"), ImportFormat::Auto)
            .await
            .unwrap();
        assert_eq!(report.format, ImportFormat::Hindsight);
        assert_eq!(report.conversations_added, 3);
        let progress = h.reader().analysis_progress().unwrap();
        if automatic {
            assert!(progress.pending > 0, "{progress:?}");
        } else {
            assert_eq!(progress.pending, 0, "{progress:?}");
        }
    }
}

#[tokio::test]
async fn a_damaged_history_refuses_an_import_and_still_exports() {
    let (dir, h) = temp_hindsight();
    h.import_file(&fixture("hindsight_sample.json"), ImportFormat::Auto)
        .await
        .unwrap();
    let locations = h.locations.clone();
    drop(h);
    let store = Store::open(&locations.db_path()).unwrap();
    let h = Hindsight::new(store, locations, Some(vec!["a test says so".into()])).unwrap();
    let err = h
        .import_file(&fixture("hindsight_sample.json"), ImportFormat::Auto)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "read_only");
    let json = dir.path().join("out.json");
    assert_eq!(h.export(ExportFormat::Json, &json).unwrap(), 3);
    let folder = dir.path().join("md");
    assert_eq!(h.export(ExportFormat::Markdown, &folder).unwrap(), 3);
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), 3);
}
