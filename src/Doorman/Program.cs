Console.WriteLine("Doorman: not wired yet");
