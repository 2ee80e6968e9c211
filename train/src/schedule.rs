//! Learning-rate schedules as pure functions of the optimizer step, so that a resumed run, which
//! knows its step from the epochs done, continues on the same curve with no state to save.

use cxr_core::{OptimizerConfig, ScheduleConfig, TrainConfig};

/// Where the schedule is evaluated.
#[derive(Debug, Clone, Copy)]
pub struct At {
    /// Optimizer steps taken before this one (0-based).
    pub step: u64,
    /// Total optimizer steps of the run.
    pub total_steps: u64,
    /// Epoch (0-based).
    pub epoch: u32,
}

/// The learning rate for the step at `at`.
#[must_use]
pub fn lr_at(train: &TrainConfig, at: At) -> f64 {
    let base = train.lr;
    let warm = |w: u32| {
        if at.step < u64::from(w) { (at.step + 1) as f64 / f64::from(w) } else { 1.0 }
    };
    let lr = match train.schedule {
        ScheduleConfig::Constant { warmup_steps } => base * warm(warmup_steps),
        ScheduleConfig::Cosine { warmup_steps, min_lr } => {
            if at.step < u64::from(warmup_steps) {
                base * warm(warmup_steps)
            } else {
                let span = at.total_steps.saturating_sub(u64::from(warmup_steps)).max(1);
                let progress = ((at.step - u64::from(warmup_steps)) as f64 / span as f64).min(1.0);
                min_lr + 0.5 * (base - min_lr) * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
        ScheduleConfig::Step { warmup_steps, every_epochs, gamma } => base * warm(warmup_steps) * gamma.powi(i32::try_from(at.epoch / every_epochs.max(1)).unwrap_or(i32::MAX)),
    };
    // LibAUC's `update_regularizer(decay_factor)` divides PESG/PDSCA's rate once per epoch.
    match train.optimizer {
        OptimizerConfig::Pesg { decay_factor, .. } | OptimizerConfig::Pdsca { decay_factor, .. } => lr / decay_factor.powi(i32::try_from(at.epoch).unwrap_or(i32::MAX)),
        _ => lr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train(schedule: &str) -> TrainConfig {
        toml::from_str(&format!("epochs = 4\nbatch_size = 2\nlr = 0.1\n[schedule]\n{schedule}")).expect("config")
    }

    #[test]
    fn warmup_then_cosine_reaches_min_at_the_end() {
        let t = train("name = \"cosine\"\nwarmup_steps = 4\nmin_lr = 0.001");
        let at = |step| lr_at(&t, At { step, total_steps: 104, epoch: 0 });
        assert!((at(0) - 0.025).abs() < 1e-12 && (at(3) - 0.1).abs() < 1e-12, "linear warm-up to the peak");
        assert!((at(4) - 0.1).abs() < 1e-12, "cosine starts at the peak");
        assert!((at(54) - (0.001 + 0.5 * 0.099)).abs() < 1e-12, "half-way is the mid-point");
        assert!((at(104) - 0.001).abs() < 1e-12);
        assert!((1..104).all(|s| at(s + 4) <= at(s + 3) + 1e-15), "monotone after warm-up");
    }

    #[test]
    fn step_decays_per_period_and_constant_is_constant() {
        let t = train("name = \"step\"\nevery_epochs = 2\ngamma = 0.5");
        let at = |epoch| lr_at(&t, At { step: 100, total_steps: 200, epoch });
        assert_eq!((at(0), at(1), at(2), at(3)), (0.1, 0.1, 0.05, 0.05));
        let c = train("name = \"constant\"");
        assert_eq!(lr_at(&c, At { step: 7, total_steps: 8, epoch: 3 }), 0.1);
    }
}
