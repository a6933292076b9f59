//! Phase 5: the IP of each RUNNING task: from its ENI, or through
//! DescribeContainerInstances and DescribeInstances (EC2 launch type).
//! Once every task is located, the start waits for the runners online, or
//! is finished.

use crate::aws::ec2;
use crate::aws::ecs;
use crate::exchange::Call;

use super::{Op, Stage, Start};

impl Start {
    /// Launch `i`'s task is RUNNING: its IP, from the task, else from its
    /// EC2 instance.
    pub(super) fn locate(&mut self, i: usize) {
        let task = self.launches[i].task.as_ref().expect("running task");
        if let Some(ip) = task.private_ip() {
            self.launches[i].ip = ip.to_string();
            return self.located(i);
        }
        if !task.container_instance_arn.is_empty() {
            let arns = vec![task.container_instance_arn.clone()];
            self.ex.submit(Call::ecs(
                Op::ContainerInstances(i),
                "DescribeContainerInstances",
                ecs::describe_container_instances(&self.s.cluster, &arns),
            ));
            return;
        }
        self.out.warning(format!(
            "ECS reports no private IP for task {}; its ipaddr is empty.",
            task.id()
        ));
        self.located(i)
    }

    /// Launch `i`'s container instance: its EC2 instance, for the IP.
    pub(super) fn on_container_instances(&mut self, i: usize, body: &str) {
        let ids = ecs::parse_container_instances(body).unwrap_or_default();
        if ids.is_empty() {
            self.out.warning(format!(
                "The container instance of task {} has no EC2 instance id; its ipaddr is empty.",
                self.launches[i].task_id()
            ));
            return self.located(i);
        }
        self.ex.submit(Call::ec2(
            Op::Instances(i),
            "DescribeInstances",
            ec2::describe_instances(&ids),
        ));
    }

    /// Launch `i`'s EC2 instance: its private IP.
    pub(super) fn on_instances(&mut self, i: usize, body: &str) {
        match ec2::parse_instance_private_ips(body) {
            Ok(found) if !found.private_ips.is_empty() => {
                self.launches[i].ip = found.private_ips[0].1.clone()
            }
            _ => self.out.warning(format!(
                "DescribeInstances gave no private IP for task {}; its ipaddr is empty.",
                self.launches[i].task_id()
            )),
        }
        self.located(i)
    }

    pub(super) fn located(&mut self, i: usize) {
        self.launches[i].located = true;
        if !self.launches.iter().all(|l| l.located) {
            return;
        }
        if self.s.wait_for_registration {
            self.stage = Stage::WaitOnline;
            let what = if self.fleet() {
                format!("the {} runners of {}", self.launches.len(), self.label)
            } else {
                format!("runner {}", self.label)
            };
            self.out
                .info(format!("Waiting for {what} to come online in GitHub"));
            self.check_online();
        } else {
            self.stage = Stage::Finished;
        }
    }
}
