namespace Doorman.Synapse.Tests;
