using ResNet.MLNet.Benchmarks;

return BenchmarkRunner.Run(args);
