//! Phase 2: each runner registered with GitHub (a JIT configuration, or a
//! registration token for `registration: token`); a name GitHub already
//! has (an earlier attempt whose answer was lost) is replaced. Each
//! registration goes on to its RunTask.

use crate::exchange::Call;
use crate::github;
use crate::names;
use crate::protocol::Millis;
use crate::runner_image;
use crate::settings::Registration;

use super::{Op, Start};

impl Start {
    /// Register launch `i`'s runner with GitHub.
    pub(super) fn register(&mut self, i: usize) {
        let name = self.launches[i].name.clone();
        let call = match self.s.registration {
            Registration::Jit => {
                let labels = names::labels(&self.s, &self.label, &name);
                let body = github::jit_body(&name, self.s.runner_group, &labels, &self.s.workdir);
                Call::github(
                    Op::Jit(i),
                    "generate-jitconfig",
                    "POST",
                    github::jit_path(&self.s.scope),
                    Some(body),
                )
            }
            Registration::Token => Call::github(
                Op::RegistrationToken(i),
                "registration-token",
                "POST",
                github::registration_token_path(&self.s.scope),
                None,
            ),
        };
        self.ex.submit(call);
    }

    pub(super) fn on_jit(&mut self, now: Millis, i: usize, body: &str) {
        let Some((id, config)) = github::parse_jit(body) else {
            // GitHub did register it: replace it (look up, delete,
            // register again), or at least remove it.
            self.launches[i].runner_created = true;
            if !self.launches[i].conflict_resolved {
                self.out.warning(format!(
                    "GitHub's answer to generate-jitconfig for runner {} was unreadable",
                    self.launches[i].name
                ));
                return self.resolve_conflict(i);
            }
            let message =
                "GitHub generate-jitconfig: answer without runner.id or encoded_jit_config".into();
            return self.fail_runner(now, i, message, false);
        };
        self.out.secret(&config);
        let labels = names::labels(&self.s, &self.label, &self.launches[i].name).join(",");
        let l = &mut self.launches[i];
        l.github_runner = Some(id);
        l.runner_created = true;
        l.credential_env = runner_image::jit_env(config);
        let line = format!(
            "Registered runner {} with GitHub (id {id}, labels {labels})",
            l.name
        );
        self.say(line);
        self.tally_registered();
        self.run_task(now, i);
    }

    pub(super) fn on_registration_token(&mut self, now: Millis, i: usize, body: &str) {
        let Some(token) = github::parse_registration_token(body) else {
            let message = "GitHub registration-token: answer without token".into();
            return self.fail_runner(now, i, message, false);
        };
        self.out.secret(&token);
        let name = self.launches[i].name.clone();
        self.say(format!(
            "Got a registration token from GitHub for runner {name} (valid one hour)"
        ));
        let labels = names::labels(&self.s, &self.label, &name);
        // config.sh takes the group by name; none is the default group.
        let group = self
            .s
            .runner_group_name
            .clone()
            .filter(|_| self.s.runner_group != crate::settings::DEFAULT_RUNNER_GROUP);
        let env = runner_image::token_env(&self.s, &name, &token, &labels, group.as_deref());
        let l = &mut self.launches[i];
        l.runner_created = true;
        l.credential_env = env;
        self.tally_registered();
        self.run_task(now, i);
    }

    /// Launch `i`'s name is taken at GitHub by an earlier attempt of ours:
    /// replace that registration (its JIT config was never seen, so no
    /// task can use it).
    pub(super) fn resolve_conflict(&mut self, i: usize) {
        let l = &mut self.launches[i];
        l.conflict_resolved = true;
        // Until it is deleted, a failure must remove it too.
        l.runner_created = true;
        let name = l.name.clone();
        self.out.info(format!(
            "Runner {name} is already registered (an earlier attempt whose answer was lost): replacing it"
        ));
        self.ex.submit(Call::github(
            Op::Conflict(i),
            "look up runner",
            "GET",
            github::runners_by_name_path(&self.s.scope, &name),
            None,
        ));
    }

    /// The earlier registration of launch `i`'s name, looked up: delete it,
    /// or (gone meanwhile) register again.
    pub(super) fn on_conflict(&mut self, i: usize, body: &str) {
        let name = self.launches[i].name.clone();
        let found =
            github::parse_runners(body).and_then(|(rs, _)| rs.into_iter().find(|r| r.name == name));
        match found {
            Some(r) => {
                self.launches[i].github_runner = Some(r.id);
                self.ex.submit(Call::github(
                    Op::ConflictDelete(i),
                    "delete runner",
                    "DELETE",
                    github::runner_path(&self.s.scope, r.id),
                    None,
                ));
            }
            None => self.register(i),
        }
    }

    /// The earlier registration is deleted: register again.
    pub(super) fn on_conflict_deleted(&mut self, i: usize) {
        let l = &mut self.launches[i];
        l.github_runner = None;
        l.runner_created = false;
        self.register(i);
    }

    /// In a large fleet, one line once every runner is registered.
    pub(super) fn tally_registered(&mut self) {
        if !self.itemised() && self.launches.iter().all(|l| l.runner_created) {
            self.out.info(format!(
                "Registered {} runners with GitHub, each labelled {}",
                self.launches.len(),
                self.label
            ));
        }
    }
}
