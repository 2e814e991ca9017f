using ResNet.MLNet.Cli;

return await CliApp.RunAsync(args);
