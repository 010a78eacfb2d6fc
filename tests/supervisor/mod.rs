//! Process groups seen from outside, in `/proc`: a stop and a drop leave no process behind, not
//! even a zombie. (The rest of `supervisor::child` is tested beside it.)

use std::time::Duration;

use gltf_cloud::supervisor::{CommandSpec, ProcessGroup};

use crate::common::{alive, exists};

#[tokio::test]
async fn stop_kills_a_grandchild_that_ignores_sigterm() {
    // The shell ignores TERM and so does the grandchild it starts; only SIGKILL ends them.
    let spec = CommandSpec::new([
        "sh",
        "-c",
        "trap '' TERM; sh -c 'trap \"\" TERM; echo $$; sleep 60' & wait",
    ]);
    let (mut group, mut lines) = ProcessGroup::spawn(&spec).unwrap();
    let grandchild: i32 = tokio::time::timeout(Duration::from_secs(10), lines.recv())
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    let leader = group.id();
    assert!(alive(leader) && alive(grandchild));
    let started = std::time::Instant::now();
    let stopped = group.stop(Duration::from_millis(300)).await;
    assert!(stopped.killed);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(!alive(leader), "leader {leader} survived");
    assert!(!alive(grandchild), "grandchild {grandchild} survived");
    // Reaped, not merely dead: as subreaper we collected the orphaned grandchild too.
    assert!(!exists(leader) && !exists(grandchild), "zombies left");
}

#[tokio::test]
async fn dropping_a_group_kills_and_reaps_it() {
    let spec = CommandSpec::new(["sh", "-c", "sh -c 'echo $$; sleep 60' & wait"]);
    let (group, mut lines) = ProcessGroup::spawn(&spec).unwrap();
    let grandchild: i32 = tokio::time::timeout(Duration::from_secs(10), lines.recv())
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    let leader = group.id();
    drop(group);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while exists(leader) || exists(grandchild) {
        assert!(
            std::time::Instant::now() < deadline,
            "group not reaped after drop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
