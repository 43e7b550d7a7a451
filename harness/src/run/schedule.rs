//! Which blocks of a sequence start together (pure).
//!
//! Consecutive background steps start together, as GitHub starts a job's services: those that
//! wait for their health check too, each awaited in parallel, and the step after them waits
//! for the whole batch. Everything else runs in its turn, alone.

use crate::plan::Block;

/// How a block starts, as far as the sequence around it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// A background step with nothing to wait for: the sequence goes on at once.
    Detached,
    /// A background step whose health check holds the step after it.
    HoldsNext,
    /// A run step, or a group: in its turn, alone.
    InTurn,
}

/// How many blocks at the head of `rest` start together (at least one, unless `rest` is
/// empty).
pub(crate) fn next_batch(rest: &[Block], start: impl Fn(&Block) -> Start) -> usize {
    let background = rest
        .iter()
        .take_while(|b| start(b) != Start::InTurn)
        .count();
    background.clamp(rest.len().min(1), rest.len())
}

/// The batches of a sequence, as index ranges, in order.
pub(crate) fn batches(
    children: &[Block],
    start: impl Fn(&Block) -> Start,
) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < children.len() {
        let n = next_batch(&children[at..], &start);
        out.push(at..at + n);
        at += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps 0-2 are detached services, 3 holds, 4-5 run in turn.
    fn start(b: &Block) -> Start {
        match b {
            Block::Step(0..=2) => Start::Detached,
            Block::Step(3) => Start::HoldsNext,
            _ => Start::InTurn,
        }
    }

    fn steps(ids: &[usize]) -> Vec<Block> {
        ids.iter().map(|&i| Block::Step(i)).collect()
    }

    #[test]
    fn detached_services_start_with_the_holder_after_them() {
        assert_eq!(batches(&steps(&[0, 1, 3, 4, 5]), start), [0..3, 3..4, 4..5]);
    }

    #[test]
    fn a_run_step_ends_a_batch_of_detached_services() {
        assert_eq!(batches(&steps(&[0, 1, 4, 2]), start), [0..2, 2..3, 3..4]);
    }

    #[test]
    fn services_with_health_checks_start_together() {
        assert_eq!(batches(&steps(&[3, 3, 4]), start), [0..2, 2..3]);
        assert_eq!(batches(&steps(&[3, 0, 3, 1, 4]), start), [0..4, 4..5]);
    }

    #[test]
    fn groups_run_alone() {
        let children = vec![Block::Sequence(steps(&[4])), Block::Parallel(steps(&[5]))];
        assert_eq!(batches(&children, start), [0..1, 1..2]);
        assert!(batches(&[], start).is_empty());
    }
}
