// libtorch's default random generator is process-wide: weight initialisation after torch.manual_seed is only
// repeatable when no other test draws from it at the same time, and the reproducibility tests assert exactly
// that. Training tests also saturate both cores on their own, so running test classes one after another costs
// little wall time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
