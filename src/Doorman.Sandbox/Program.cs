Console.WriteLine("Doorman sandbox: not wired yet");
