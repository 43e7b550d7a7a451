//! When a step or stage runs, and how often: `when` (every form of the schema), the
//! [`RunPolicy`] it resolves to, `failure`, and `strategy` (a matrix).

use crate::source::Spanned;

/// When a step (or stage) runs, as Gitness decides it from `when`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RunPolicy {
    /// While every step before it passed (no `when`, or a `when` true on success).
    #[default]
    OnSuccess,
    /// Only once a step before it failed (`when: failure()`).
    OnFailure,
    /// Whatever happened before (`when: always()`).
    Always,
    /// Never; the reason is shown in the report.
    Never(String),
}

/// Why a step or stage does not run: the one decision from a [`RunPolicy`] and whether
/// something before it failed, shared by the runner, the command line and the attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skip<'a> {
    /// It never runs for this build; the reason says why.
    Never(&'a str),
    /// Something before it failed and it runs only while everything passes.
    AfterFailure,
    /// Nothing before it failed and it runs only after a failure (`when: failure()`).
    OnlyAfterFailure,
}

impl Skip<'_> {
    /// Why, in words (`what` names what failed before: "step", "stage").
    ///
    /// # Examples
    ///
    /// ```
    /// use pipeline_test_harness::spec::RunPolicy;
    /// let skip = RunPolicy::OnFailure.skip(false).unwrap();
    /// assert_eq!(skip.reason("stage"), "it runs only after a failure (`when: failure()`)");
    /// assert_eq!(RunPolicy::OnSuccess.skip(true).unwrap().reason("stage"), "an earlier stage failed");
    /// assert_eq!(RunPolicy::Always.skip(true), None);
    /// ```
    pub fn reason(&self, what: &str) -> String {
        match self {
            Skip::Never(reason) => (*reason).to_string(),
            Skip::AfterFailure => format!("an earlier {what} failed"),
            Skip::OnlyAfterFailure => "it runs only after a failure (`when: failure()`)".into(),
        }
    }
}

impl RunPolicy {
    /// Whether it is skipped, `failing` telling whether something before it failed.
    pub fn skip(&self, failing: bool) -> Option<Skip<'_>> {
        match (self, failing) {
            (RunPolicy::Never(reason), _) => Some(Skip::Never(reason)),
            (RunPolicy::OnSuccess, true) => Some(Skip::AfterFailure),
            (RunPolicy::OnFailure, false) => Some(Skip::OnlyAfterFailure),
            _ => None,
        }
    }
}

/// `when:`, in any of the schema's forms.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum When {
    /// An expression: `build.branch == "main"`, `${{ failure() }}`.
    Expr(Spanned<String>),
    /// `{branch: {eq: main}}`, or a list of such maps: true when one map's conditions all
    /// hold.
    Conditions(Vec<Vec<Condition>>),
}

/// One `key: {eq: value}` of a declarative `when`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Condition {
    /// What is tested: `branch`, `event`, ... (a field of `build`) or a path such as
    /// `repo.name` or `inputs.target`.
    pub key: Spanned<String>,
    /// The test.
    pub test: CondTest,
}

/// The test of a declarative `when` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CondTest {
    /// `eq: value`.
    Eq(Spanned<String>),
    /// `in: [a, b]`.
    In(Vec<Spanned<String>>),
    /// `not: {...}`.
    Not(Box<CondTest>),
    /// Several tests in one map: all must hold.
    All(Vec<CondTest>),
}

/// One `failure:` strategy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Failure {
    /// `errors`: which errors it applies to.
    pub errors: Vec<Spanned<String>>,
    /// `action.type` (`ignore`, `retry`, `abort`, ...).
    pub action: Option<Spanned<String>>,
}

/// `strategy:` (matrix, for, while).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Strategy {
    /// `type`.
    pub strategy_type: Spanned<String>,
    /// `spec` of a `type: matrix`.
    pub matrix: Option<Matrix>,
}

/// A matrix strategy's `spec`: one copy of the step per combination of the axis values.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Matrix {
    /// `axis`: each name with its values, in the order written.
    pub axis: Vec<(Spanned<String>, Vec<Spanned<String>>)>,
    /// `include`: extra combinations (or extra values for matching ones).
    pub include: Vec<Vec<(String, String)>>,
    /// `exclude`: combinations to leave out (a combination matching every pair of one entry).
    pub exclude: Vec<Vec<(String, String)>>,
    /// `concurrency`: at most this many copies at once.
    pub concurrency: Option<Spanned<u32>>,
}
