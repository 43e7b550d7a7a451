//! Removes what processes of this host left behind when they were killed.
//!
//! Every resource carries `pipeline-test.owner=host/pid/start-time`. A run first removes the
//! resources whose owner is on this host and no longer alive (no such pid, or a pid reused by
//! a process that started at another time).

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::{
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder,
};
use futures::future::join_all;

use crate::docker::{
    MANAGED_LABEL, OWNER_LABEL, containers_labelled, host_name, process_start_time,
    remove_containers,
};

/// True when `owner` (`host/pid/start`) names a process of this host that is gone.
pub(crate) fn is_dead_owner(owner: &str, this_host: &str) -> bool {
    let mut parts = owner.rsplitn(3, '/');
    let (Some(start), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if host != this_host {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if !std::path::Path::new("/proc/self").exists() {
        return false; // no way to tell here: leave it
    }
    match process_start_time(pid) {
        None => true,
        Some(t) => start.parse::<u64>().is_ok_and(|s| s != 0 && s != t),
    }
}

/// Removes the containers, networks and volumes of dead owners on this host. Returns how
/// many resources were removed.
pub(crate) async fn sweep(docker: &Docker) -> usize {
    let host = host_name();
    let filters = HashMap::from([("label".to_string(), vec![format!("{MANAGED_LABEL}=true")])]);
    let dead = |labels: Option<&HashMap<String, String>>| {
        labels
            .and_then(|l| l.get(OWNER_LABEL))
            .is_some_and(|o| is_dead_owner(o, &host))
    };
    let mut removed = 0;
    let ids: Vec<String> = containers_labelled(docker, &format!("{MANAGED_LABEL}=true"))
        .await
        .into_iter()
        .filter(|c| dead(c.labels.as_ref()))
        .filter_map(|c| c.id)
        .collect();
    removed += ids.len() - remove_containers(docker, &ids).await.len();
    if let Ok(list) = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
    {
        let names: Vec<String> = list
            .volumes
            .unwrap_or_default()
            .into_iter()
            .filter(|v| {
                v.labels
                    .get(OWNER_LABEL)
                    .is_some_and(|o| is_dead_owner(o, &host))
            })
            .map(|v| v.name)
            .collect();
        let opts = RemoveVolumeOptionsBuilder::default().force(true).build();
        removed += join_all(
            names
                .iter()
                .map(|n| docker.remove_volume(n, Some(opts.clone()))),
        )
        .await
        .into_iter()
        .filter(Result::is_ok)
        .count();
    }
    if let Ok(list) = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filters)
                .build(),
        ))
        .await
    {
        let ids: Vec<String> = list
            .into_iter()
            .filter(|n| dead(n.labels.as_ref()))
            .filter_map(|n| n.id)
            .collect();
        removed += join_all(ids.iter().map(|id| docker.remove_network(id)))
            .await
            .into_iter()
            .filter(Result::is_ok)
            .count();
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners() {
        let me = std::process::id();
        let start = process_start_time(me).unwrap();
        assert!(!is_dead_owner(&format!("h/{me}/{start}"), "h"));
        assert!(
            is_dead_owner(&format!("h/{me}/{}", start + 1), "h"),
            "a reused pid"
        );
        assert!(is_dead_owner("h/4000000000/1", "h"));
        assert!(!is_dead_owner("other/4000000000/1", "h"), "another host's");
        assert!(!is_dead_owner("garbage", "h"));
    }
}
