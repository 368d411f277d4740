from lmforecast.cli import main

main()
