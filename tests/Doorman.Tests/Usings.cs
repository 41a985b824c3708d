namespace Doorman.Tests;
